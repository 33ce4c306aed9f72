"""What both sides share: settings, errors, the Passage, the models, the index format, words,
and documents (finding, reading, decoding, extracting). Imports nothing from ingest/, search/,
workshop/ or ui/."""
