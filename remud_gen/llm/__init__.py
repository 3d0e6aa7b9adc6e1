"""The model client shared by every stage that calls a model.

Import from the modules (`remud_gen.llm.client`, `.runner`, `.request`, `.journal`, `.settings`): this package
imports nothing itself, so reading settings does not pay for importing the openai SDK.
"""
