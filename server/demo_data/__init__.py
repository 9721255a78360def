"""Real speech bundled for ``voxguard demo`` (LibriSpeech, CC BY 4.0; see README.md)."""
