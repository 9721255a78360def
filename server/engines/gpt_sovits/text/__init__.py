"""The GPT-SoVITS text front end: normalisation, G2P, BERT features and text segmentation."""
