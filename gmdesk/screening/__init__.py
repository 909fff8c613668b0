"""From snippet scores to an infant verdict: the verdict rule and the assessment of one recording."""
