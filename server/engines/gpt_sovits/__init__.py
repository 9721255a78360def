"""The ``gpt-sovits`` engine: a clean-room PyTorch implementation of GPT-SoVITS inference.

It loads the official released checkpoints unchanged (v2, v2Pro, v2ProPlus) and reproduces the
official ``TTS.run`` numerically: text front end -> T2S semantic tokens -> SoVITS decoder ->
32 kHz audio. One module per job; see docs/engines.md.
"""
