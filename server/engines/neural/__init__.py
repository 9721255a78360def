"""The embedded-neural engine (Piper base voice + conversion + HiFi-GAN), pip packages only.

Importing the package loads nothing heavy: ``spec`` declares the engine for the gRPC
process, ``engine`` (ONNX Runtime, torch) is imported by the workers that build it.
"""
