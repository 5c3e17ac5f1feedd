"""Batch APIs: the same requests as an online run, sent as provider batches at half price.

`koarena.batch.apis` speaks OpenAI's, Anthropic's and Google's batch APIs; `koarena.batch.journal`
keeps the batch ids and what each item stands for in the bench's logs; `koarena.batch.run`
runs tasks in rounds of batches.
"""
