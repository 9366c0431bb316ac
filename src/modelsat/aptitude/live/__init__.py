"""Live profiling: give a real model the aptitude test (local weights or an OpenAI-compatible endpoint).

Modules: `questions` (prompts and the circle test), `answer_log` (resumable JSONL log),
`local` (option log-likelihood scoring with transformers), `endpoint` (chat-completion client),
`runner` (asks what is not yet answered and turns the log into outcomes rows and a card).
"""
