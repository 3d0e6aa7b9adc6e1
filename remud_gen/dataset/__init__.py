"""The final dataset: everything that writes or reshapes WORK/dataset, after filter has decided what is in it.

shards.py, sharegpt.py, dataset_files.py     records in LLaMA-Factory's ShareGPT layout: shards, test.json, info
formats.py                                   the extra formats (uploadable OpenAI chat JSONL, a Hugging Face folder)
system_prompts.py                            the system prompt of each item kind, shared with eval
stats.py, card.py, review.py, account.py     stats.json, the dataset card (README.md) and report.html
split.py, draw.py, overlap.py, shardset.py   the split command: a stratified test draw, leak checks, the rewrite
"""
