"""The page: "Ask" (ask the essays a question, see the passages that answer it, read them in
their document, collect the best in a basket and export it as a workshop handout) and "Themes"
(what the essays talk about; collect from there too).

    streamlit run app.py

Settings come from the ESSAYS_* environment variables (see core/settings.py): the index folder
(ESSAYS_INDEX_DIR, default index/), the page's public address for permalinks (ESSAYS_BASE_URL,
else the page's own address) and the rest. The address reproduces the page:
?q=QUESTION&k=N&style=apa&src=FILE&p=PASSAGE_ID&b=BASKET (see ui/address.py).
"""
import streamlit as st

st.set_page_config(page_title="Ask the essays", page_icon=":material/menu_book:", layout="centered")
st.navigation([
    st.Page("pages/ask.py", title="Ask", icon=":material/search:", default=True),
    st.Page("pages/themes.py", title="Themes", icon=":material/hub:", url_path="themes"),
]).run()
