"""The pages' parts: the only package that imports Streamlit (in `components`, `ask`, `themes`,
`serving`); `render`, `reader` and `address` are pure functions the pages and tests share."""
