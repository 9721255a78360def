"""GPT-SoVITS fine-tuning: the official data preparation and the s1 (GPT) and s2 (SoVITS)
training stages, reproduced on our own model code (see docs/engines.md, "Fine-tuning")."""
