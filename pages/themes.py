"""The Themes page (app.py lists it): themes, theme search and each theme's passages, with
the same basket as the Ask page."""
from ui import components, themes

question = themes.keep_question()
settings, searcher = components.start_page()
components.draw_or_explain(themes.page, settings, searcher, question)
