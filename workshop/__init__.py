"""Citations and handouts, no Streamlit: quotes verified against their files (`verify`), what
is known of each document (`catalog`), citations in three styles (`cite`), the basket and the
handout exports. Imports core/ only."""
