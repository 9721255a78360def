"""The first-generation embedded engine (eSpeak NG base voice + WORLD conversion).

Importing the package loads nothing heavy: ``spec`` declares the engine, ``engine`` builds it.
"""
