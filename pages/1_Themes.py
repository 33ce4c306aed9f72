"""The theme page: what the essays talk about, all passages on one theme, theme search and
"more like this". Streamlit lists it beside the question page (app.py), which keeps its
question and citation style."""
import streamlit as st

from ui import components, render, themes

st.set_page_config(page_title="Themes · Ask the essays", page_icon="🗺️", layout="centered")
st.html(render.CSS)
question = themes.keep_question()
settings = components.settings_or_explain()
searcher = components.searcher_or_explain(settings)
components.draw_or_explain(themes.page, settings, searcher, question)
