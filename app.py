"""The question page: ask the essays a question, see the passages that answer it, read them in
their document, collect the best in a basket and export it as a workshop handout.

    streamlit run app.py

Settings come from the ESSAYS_* environment variables (see core/settings.py): the index folder
(ESSAYS_INDEX_DIR, default index/), the page's public address for permalinks (ESSAYS_BASE_URL,
else the page's own address) and the rest. The address reproduces the page:
?q=QUESTION&k=N&style=apa&src=FILE&p=PASSAGE_ID (see ui/address.py).
"""
import streamlit as st

from ui import ask, components, render

st.set_page_config(page_title="Ask the essays", page_icon="🔎", layout="centered")
st.html(render.CSS)
settings = components.settings_or_explain()
searcher = components.searcher_or_explain(settings)
components.draw_or_explain(ask.page, settings, searcher)
