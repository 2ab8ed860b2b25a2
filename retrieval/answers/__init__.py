"""Answers: the extractive answerer, who-wrote questions, the optional LLM answerer, follow-ups."""
