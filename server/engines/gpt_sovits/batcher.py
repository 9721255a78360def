"""Continuous batching of GPT-SoVITS requests across voices: one step advances them all.

A :class:`SynthesisBatch` holds any number of requests, each with its own voice, text
segments, options and random stream. :meth:`SynthesisBatch.step` runs one T2S decoding
step for every request's current segment in a single batched forward (rows of different
voices, prompt lengths, samplers and stop rules), then decodes each segment that finished
with SoVITS (yielding each as soon as it is decoded, for streaming) and hands that
request's next segment to T2S (prefilled within the per-step budget of ``T2SBatch``).
Requests join (:meth:`add`) and leave (:meth:`remove`: cancelled, deadline, voice
revoked) between steps without disturbing the others.

Within one request the segments run one after the other, in text order, exactly as the
official ``TTS.run`` (batch size 1) does: so every random draw of a seeded request comes
from its own generator in the same order whatever else shares the batch, and its audio
streams segment by segment. A single request is the batch-of-one case of this class
(:meth:`GptSovitsModels.synthesize` runs one through it).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from server.engines.gpt_sovits.inference import DecodingModels, InferenceOptions, PreparedVoice
from server.engines.gpt_sovits.streaming import SegmentStreamer, StreamPlan
from server.engines.gpt_sovits.t2s_decode import T2SBatch, T2SRequest
from server.engines.gpt_sovits.t2s_sampling import SamplingParams, make_generator
from server.engines.gpt_sovits.text.frontend import PhoneSegment


@dataclass(frozen=True)
class SegmentOutput:
    """A request's next audio, in text order: a whole segment, or (streaming) part of one.

    ``segment_done`` marks the segment's last piece (``tokens`` then holds all its tokens;
    for a partial piece, the tokens generated so far); ``last`` the request's last piece.
    """

    key: Hashable
    index: int
    segment: PhoneSegment
    tokens: np.ndarray  # (n,) int64 semantic tokens
    eos: bool
    audio: np.ndarray = field(repr=False)  # (samples,) float32 at 32 kHz
    last: bool
    segment_done: bool = True
    #: With ``defer_decode``: computes ``audio`` (the SoVITS decode), off the stepping thread;
    #: ``audio`` is then empty, and the request's next segment waits for :meth:`resume`.
    decode: Callable[[], np.ndarray] | None = field(default=None, repr=False)


@dataclass
class _Request:
    """One request's progress through its segments."""

    key: Hashable
    voice: PreparedVoice
    segments: list[PhoneSegment]
    options: InferenceOptions
    params: SamplingParams
    generator: torch.Generator | None
    semantic_override: list[list[int]] | None
    noise: list[torch.Tensor] | None
    stream: StreamPlan | None = None
    streamer: SegmentStreamer | None = None
    next_index: int = 0
    row_id: int | None = None


class SynthesisBatch:
    """Requests of any voices advanced together, one T2S token per :meth:`step`.

    With ``defer_decode`` a finished segment comes out undecoded, with a ``decode`` callable
    that a caller runs elsewhere (a worker's output stage), so the next T2S steps need not
    wait for SoVITS. That request's next segment starts only once the caller says
    :meth:`resume`, after the decode: the decode draws its noise from the request's generator
    exactly when the batch-of-one path does, so seeded output is unchanged.
    """

    def __init__(self, models: DecodingModels, *, defer_decode: bool = False) -> None:
        self.models = models
        self.defer_decode = defer_decode
        self._t2s = T2SBatch(models.t2s)
        self._paused: set[Hashable] = set()  # segment out for decoding, next one not started
        self._requests: dict[Hashable, _Request] = {}
        self._by_row: dict[int, Hashable] = {}
        self._ready: list[SegmentOutput] = []  # outputs produced while admitting (override)

    def __len__(self) -> int:
        return len(self._requests)

    @property
    def pending(self) -> bool:
        """True when decoded segments wait for the next :meth:`step` to hand them out."""
        return bool(self._ready)

    @property
    def steppable(self) -> bool:
        """True when a :meth:`step` would do something (not every request is paused)."""
        return bool(self._ready) or len(self._requests) > len(self._paused)

    def resume(self, key: Hashable) -> None:
        """Start the next segment of a request whose deferred decode has run."""
        request = self._requests.get(key)
        if key in self._paused and request is not None:
            self._paused.discard(key)
            with torch.inference_mode():
                self._start_segment(request)

    @property
    def keys(self) -> list[Hashable]:
        """Keys of the requests still running."""
        return list(self._requests)

    @torch.inference_mode()
    def add(
        self,
        key: Hashable,
        voice: PreparedVoice,
        segments: list[PhoneSegment],
        options: InferenceOptions,
        *,
        semantic_override: list[list[int]] | None = None,
        noise: list[torch.Tensor] | None = None,
        stream: StreamPlan | None = None,
    ) -> None:
        """Admit a request: its first segment goes to T2S (see ``T2SBatch.add`` for when the
        prompt is prefilled at once and when in chunks beside running requests).

        ``semantic_override`` skips T2S and decodes the given tokens (one list per segment);
        ``noise`` injects the decoder noise per segment (parity tests); ``stream`` decodes
        each segment in windows while it is generated (:mod:`.streaming`).
        """
        if key in self._requests:
            raise ValueError(f"request {key!r} is already running")
        if not segments:
            raise ValueError("a request needs at least one segment")
        seed = options.seed
        generator = make_generator(seed, self.models.device) if seed is not None else None
        params = SamplingParams(
            top_k=options.top_k, top_p=options.top_p, temperature=options.temperature,
            repetition_penalty=options.repetition_penalty,
        )
        request = _Request(key=key, voice=voice, segments=list(segments), options=options,
                           params=params, generator=generator,
                           semantic_override=semantic_override, noise=noise, stream=stream)
        self._requests[key] = request
        self._start_segment(request)

    def remove(self, key: Hashable) -> None:
        """Drop a request wherever it is; the others are not affected."""
        request = self._requests.pop(key, None)
        self._paused.discard(key)
        if request is None:
            return
        if request.row_id is not None:
            self._by_row.pop(request.row_id, None)
            self._t2s.remove([request.row_id])
        self._ready = [out for out in self._ready if out.key != key]

    def step(self) -> Iterator[SegmentOutput]:
        """One token for every running segment; yields each finished segment once decoded.

        Segments are yielded one by one as SoVITS decodes them, so a caller can stream each
        before the next is decoded. Consume the whole iterator before calling ``add``,
        ``remove`` or ``step`` again.
        """
        ready, self._ready = self._ready, []
        yield from ready
        with torch.inference_mode():
            finished = self._t2s.step()
        for row_id, result in finished:
            key = self._by_row.pop(row_id)
            request = self._requests[key]
            request.row_id = None
            if self.defer_decode:
                output = self._defer_segment(request, result.tokens, result.eos)
                if not output.last:
                    self._paused.add(key)
                yield output
                continue
            with torch.inference_mode():
                output = self._finish_segment(request, result.tokens, result.eos)
                if not output.last:
                    self._start_segment(request)
            yield output
        for request in [r for r in self._requests.values() if r.stream and r.row_id is not None]:
            tokens = self._t2s.tokens_of(request.row_id)  # type: ignore[arg-type]
            streamer = self._streamer(request)
            if streamer.due(len(tokens)):
                with torch.inference_mode():
                    audio = streamer.chunk(tokens, final=False)
                yield SegmentOutput(key=request.key, index=request.next_index,
                                    segment=request.segments[request.next_index],
                                    tokens=np.asarray(tokens, dtype=np.int64), eos=False,
                                    audio=audio, last=False, segment_done=False)

    def _start_segment(self, request: _Request) -> None:
        """Admit the request's next segment to T2S (given tokens: decode them all now)."""
        if request.semantic_override is not None:
            while request.key in self._requests:
                tokens = torch.tensor(request.semantic_override[request.next_index],
                                      dtype=torch.int64)
                self._ready.append(self._finish_segment(request, tokens, True))
            return
        voice, segment, models = request.voice, request.segments[request.next_index], self.models
        t2s_request = T2SRequest(
            phone_ids=torch.tensor(
                list(voice.prompt.phone_ids) + list(segment.phone_ids), dtype=torch.int64
            ).to(models.device),
            bert=torch.cat([voice.prompt.bert, segment.bert], dim=1).to(models.device, models.dtype),
            prompt_codes=voice.prompt_codes,
            params=request.params,
            max_new_tokens=request.options.max_new_tokens,
            generator=request.generator,
        )
        (row_id,) = self._t2s.add([t2s_request])
        request.row_id = row_id
        self._by_row[row_id] = request.key

    def _streamer(self, request: _Request) -> SegmentStreamer:
        """The current segment's window decoder (made on first use)."""
        if request.streamer is None:
            assert request.stream is not None
            segment, models = request.segments[request.next_index], self.models

            def decode(tokens: Sequence[int]) -> np.ndarray:
                return models.decode_segment(
                    request.voice, segment, torch.tensor(list(tokens), dtype=torch.int64),
                    request.options, None, request.generator, normalize=False)

            request.streamer = SegmentStreamer(request.stream, decode)
        return request.streamer

    def _defer_segment(self, request: _Request, tokens: torch.Tensor, eos: bool) -> SegmentOutput:
        """Move past the request's current segment and hand out its decode as a callable."""
        index = request.next_index
        segment = request.segments[index]
        noise = request.noise[index] if request.noise else None
        streamer, request.streamer = request.streamer, None
        models = self.models

        def decode() -> np.ndarray:
            with torch.inference_mode():
                if streamer is not None and streamer.started:  # the rest of a streamed segment
                    return streamer.chunk([int(t) for t in tokens], final=True)
                return models.decode_segment(request.voice, segment, tokens, request.options,
                                             noise, request.generator)

        request.next_index += 1
        last = request.next_index == len(request.segments)
        if last:
            del self._requests[request.key]
        return SegmentOutput(key=request.key, index=index, segment=segment,
                             tokens=tokens.cpu().numpy(), eos=eos,
                             audio=np.zeros(0, dtype=np.float32), last=last, decode=decode)

    def _finish_segment(self, request: _Request, tokens: torch.Tensor, eos: bool) -> SegmentOutput:
        """Decode the request's current segment and move past it (retiring it after its last)."""
        output = self._defer_segment(request, tokens, eos)
        assert output.decode is not None
        return replace(output, audio=output.decode(), decode=None)
