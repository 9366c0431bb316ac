"""Live profiling: give a real model the aptitude test (local weights or an OpenAI-compatible endpoint).

Modules: `questions` (prompts, the circle test, reading option letters), `plan` (each question's
grader and prompts, ungradable questions, the cost estimate), `graders/` (one grader per kind of
question: multiple choice, math, code in a sandbox, open-ended by a judge), `answer_log` (resumable
JSONL log), `local` (letter scoring and generation with transformers), `endpoint` (chat-completion
client), `runner` (asks what is not yet answered, grades what is not yet graded, and turns the log
into outcomes rows and a card).
"""
