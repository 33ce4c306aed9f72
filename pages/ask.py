"""The Ask page (app.py lists it): the question, its answers, the reader, the basket."""
from ui import ask, components

settings, searcher = components.start_page()
components.draw_or_explain(ask.page, settings, searcher)
