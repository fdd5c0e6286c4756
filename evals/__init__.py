"""The answer-eval suite: cases written from the documents, pure metrics, a runner and reports.

`evals` imports `assistant`, never the other way round; the CLI reaches `evals.runner` lazily.
"""
