"""NLP: language identification, sentiment models (lexicon + transformer) and the spaCy component."""
