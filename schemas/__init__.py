"""Column contracts of every input and output table: the ground floor, importing nothing of ours."""
