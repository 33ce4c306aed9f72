"""Themes: the passages grouped by meaning across all the essays, each with a readable label
(`map`: clustering in `cluster`, labels in `labels`); theme search and "more like this"
(`explore`)."""
from .cluster import (MIN_THEME_SIZE, SEED, across_documents, cluster, dissolve_small, kmeans,
                      normalise, numbers_to_try, project_2d, silhouettes, theme_range)
from .explore import (NEAR_DUPLICATE, EssayCount, Similar, ThemeSearch, document_means,
                      find_passage, more_like_this, round_robin, theme_search)
from .labels import label_terms, terms
from .map import (ALGORITHM, CACHE_FILE, Theme, ThemeMap, ThemeQuote, cache_key, compute_for_index,
                  compute_themes, map_points, theme_map)

__all__ = ["MIN_THEME_SIZE", "SEED", "dissolve_small", "kmeans", "numbers_to_try", "silhouettes",
           "theme_range", "ALGORITHM", "CACHE_FILE", "across_documents", "cluster", "normalise", "project_2d", "NEAR_DUPLICATE", "EssayCount",
           "Similar", "ThemeSearch", "document_means", "find_passage", "more_like_this",
           "round_robin", "theme_search", "label_terms", "terms", "Theme", "ThemeMap", "ThemeQuote",
           "cache_key", "compute_for_index", "compute_themes", "map_points", "theme_map"]
