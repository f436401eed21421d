"""Fake `exllamav2.generator`: `ExLlamaV2Sampler.Settings` with the library's own defaults, and a
dynamic generator that does what generator/dynamic.py of 0.3.2 does, minus the model:

- `enqueue` sizes the job in pages and asserts it can fit; jobs may be enqueued between any two
  `iterate()` calls. Each `iterate()` starts what fits (a free batch row and enough free pages;
  unpaged mode has one page, so one job at a time), prefills one chunk of every started job
  (`max_input_len` tokens), and then samples one token for every job whose prefill is done, so
  a newly started job never pauses the running ones.
- The prompt prefix already in the cache is reused (`cached_tokens`): in paged mode from any
  sequence whose pages are still cached, unpaged from the last sequence only.
- Each sampled token's piece joins the held text. A stop token ends the job with the held text
  (stop token included) in `result["held"]`, not in `text`. `max_new_tokens` is checked next,
  flushing everything held, before stop strings are looked at. Text ending in an incomplete
  UTF-8 character, or in a partial stop string, is held back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from exllamav2 import ExLlamaV2Cache_8bit, attn

PAGED_PAGE_SIZE = 256
# What the fake model "writes", by job serial number (the last one for later jobs): text, or token
# ids; then "." for ever (until a stop or max_new_tokens).
RESPONSE: list[str | list[int]] = ["<think>\nadd the units, then the tens\n</think>\n\\boxed{85}<|im_end|>"]
FORWARDS: list[tuple[str, int]] = []  # ("prefill" | "decode", tokens) for each fake forward pass


class ExLlamaV2Sampler:
    @dataclass
    class Settings:  # generator/sampler.py:52-110, the fields and defaults of 0.3.2
        token_repetition_penalty: float = 1.025
        token_repetition_range: int = -1
        token_repetition_decay: int = 0
        token_frequency_penalty: float = 0.0
        token_presence_penalty: float = 0.0
        temperature: float = 0.8
        smoothing_factor: float = 0.0
        min_temp: float = 0
        max_temp: float = 0.0
        temp_exponent: float = 1.0
        top_k: int = 50
        top_p: float = 0.8
        top_a: float = 0.0
        min_p: float = 0
        tfs: float = 0
        typical: float = 0
        skew: float = 0
        temperature_last: bool = False
        mirostat: bool = False
        mirostat_tau: float = 1.5
        mirostat_eta: float = 0.1
        mirostat_mu: float | None = None
        token_bias: Any = None
        cfg_scale: float | None = None
        post_sampling_hooks: list[Any] = field(default_factory=list)
        dry_allowed_length: int = 2
        dry_base: float = 1.75
        dry_multiplier: float = 0.0
        dry_sequence_breakers: Any = None
        dry_range: int = 0
        dry_max_ngram: int = 20
        xtc_probability: float = 0.0
        xtc_threshold: float = 0.1
        xtc_ignore_tokens: Any = None


def partial_strings_match(text: str, strings: list[str]) -> int:
    """What ext_c.partial_strings_match answers: for the first string (in order) that occurs in
    `text`, or that `text` ends with a beginning of, its start index, or -2 for a partial match at
    the end; -1 when none does."""
    for string in strings:
        for start in range(len(text)):
            tail = text[start : start + len(string)]
            if tail == string:
                return start
            if start + len(tail) == len(text) and string.startswith(tail):
                return -2
    return -1


class ExLlamaV2DynamicJob:
    def __init__(self, input_ids: torch.Tensor, max_new_tokens: int, min_new_tokens: int = 0, max_skips: int = 4,
                 gen_settings: Any = None, seed: int | None = None, stop_conditions: list[Any] | None = None,
                 decode_special_tokens: bool = False, return_top_tokens: int = 0, return_logits: bool = False,
                 return_probs: bool = False, filters: Any = None, filter_prefer_eos: bool = False,
                 token_healing: bool = False, identifier: Any = None, banned_strings: Any = None,
                 embeddings: Any = None) -> None:  # fmt: skip
        assert input_ids.device.type == "cpu" and input_ids.dim() == 2, "input_ids must be a (1, n) CPU tensor"
        self.input_ids, self.max_new_tokens, self.seed, self.max_skips = input_ids, max_new_tokens, seed, max_skips
        self.gen_settings = gen_settings if gen_settings is not None else ExLlamaV2Sampler.Settings()
        conditions = list(stop_conditions or [])  # no stop conditions: no EOS stop at all
        self.stop_tokens = {c for c in conditions if isinstance(c, int)}
        self.stop_strings = [c for c in conditions if isinstance(c, str)]
        self.stop_conditions = conditions
        self.decode_special_tokens, self.identifier = decode_special_tokens, identifier
        self.serial_number = -1
        self.sequence: list[int] = input_ids[0].tolist()
        self.kv_position = 0
        self.prefill_done = False
        self.new_tokens = 0
        self.held_text = ""
        self.held_tokens: list[int] = []
        self.full_completion = ""
        self.cached_tokens = 0
        self.pages = 0
        self.skips = 0
        self.script: list[int] = []
        self.time_enqueue = 0.0
        self.time_first_prefill: float | None = None
        self.time_first_token: float | None = None


class ExLlamaV2DynamicGenerator:
    def __init__(self, model: Any, cache: Any, tokenizer: Any, max_batch_size: int | None = None,
                 max_seq_len: int | None = None, max_chunk_size: int | None = None, max_q_size: int = 8,
                 paged: bool = True, **unused: Any) -> None:  # fmt: skip
        config = model.config
        if paged:
            attn.assert_paged_attn()
            assert not config.no_flash_attn, (
                "Paged mode requires flash-attn, but flash-attn is disabled in model config."
            )
        assert not isinstance(cache, ExLlamaV2Cache_8bit), "Dynamic generator does not currently work with 8-bit cache."
        if not max_batch_size:
            max_batch_size = config.max_input_len // max_q_size
        else:
            assert max_q_size * max_batch_size <= config.max_batch_size * config.max_input_len
        assert cache.batch_size == 1, "DynamicGenerator requires cache to have batch_size = 1"
        assert cache.max_seq_len % PAGED_PAGE_SIZE == 0, f"cache.max_seq_len must be multiple of {PAGED_PAGE_SIZE}"
        self.model, self.cache, self.tokenizer, self.paged = model, cache, tokenizer, paged
        self.max_batch_size = max_batch_size
        self.page_size = PAGED_PAGE_SIZE if paged else cache.max_seq_len
        self.max_pages = max(cache.max_seq_len // self.page_size, 1)
        self.max_total_tokens = cache.max_seq_len
        self.max_chunk_size = max_chunk_size or config.max_input_len
        self.pending_jobs: list[ExLlamaV2DynamicJob] = []
        self.active_jobs: list[ExLlamaV2DynamicJob] = []
        self.cancelled: list[ExLlamaV2DynamicJob] = []
        self.cached: list[list[int]] = []  # token sequences whose keys/values are still in the cache
        self.job_serial = 0

    def num_remaining_jobs(self) -> int:
        return len(self.pending_jobs) + len(self.active_jobs)

    def enqueue(self, job: Any) -> Any:
        if isinstance(job, list):
            return [self.enqueue(j) for j in job]
        job.pages = -(-(job.input_ids.shape[-1] + job.max_new_tokens) // self.page_size)
        assert job.pages <= self.max_pages, (
            f"Job requires {job.pages} pages (only {self.max_pages} available) and cannot be enqueued. "
            f"Total cache allocated is {self.max_pages} * {self.page_size} = {self.max_total_tokens} tokens"
        )
        job.serial_number, self.job_serial = self.job_serial, self.job_serial + 1
        job.time_enqueue = time.time()
        self.pending_jobs.append(job)
        return job.serial_number

    def cancel(self, job: ExLlamaV2DynamicJob) -> None:
        if job in self.pending_jobs:
            self.pending_jobs.remove(job)
        elif job in self.active_jobs:
            self._release(job)
        self.cancelled.append(job)

    def clear_queue(self) -> None:
        for job in list(self.active_jobs):
            self._release(job)
        self.pending_jobs.clear()

    def iterate(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        self._start_jobs(results)
        for job in self.active_jobs:
            self._prefill(job, results)
        for job in [j for j in self.active_jobs if j.prefill_done]:
            self._forward("decode", 1)
            self._sample(job, results)
        return results

    # -- what dynamic.py does around the model

    def _start_jobs(self, results: list[dict[str, Any]]) -> None:
        free_pages = self.max_pages - sum(job.pages for job in self.active_jobs)
        skipped: list[ExLlamaV2DynamicJob] = []
        for job in list(self.pending_jobs):
            if len(self.active_jobs) >= self.max_batch_size or job.pages > free_pages:
                skipped.append(job)
                continue
            if any(j.skips >= j.max_skips for j in skipped):
                return  # a job skipped too often is not overtaken again
            for j in skipped:
                j.skips += 1
            self.pending_jobs.remove(job)
            self.active_jobs.append(job)
            free_pages -= job.pages
            job.script = self._script(job)
            results.append(self._result(job, "started"))

    def _prefill(self, job: ExLlamaV2DynamicJob, results: list[dict[str, Any]]) -> None:
        if job.prefill_done:
            return
        target = len(job.sequence) - 1  # the last prompt token goes in with the first decode step
        if job.time_first_prefill is None:
            job.time_first_prefill = time.time()
            job.cached_tokens = min(self._cached_prefix(job.sequence), target)
            job.kv_position = job.cached_tokens
        end = min(job.kv_position + self.max_chunk_size, target)
        if self.paged and end < target:
            end = end // self.page_size * self.page_size
        if end > job.kv_position:
            self._forward("prefill", end - job.kv_position)
        job.kv_position = end
        job.prefill_done = end >= target
        r = self._result(job, "prefill")
        r.update(curr_progress=job.kv_position, max_progress=target)
        results.append(r)

    def _cached_prefix(self, ids: list[int]) -> int:
        candidates = self.cached if self.paged else self.cached[-1:]
        candidates = candidates + [j.sequence[: j.kv_position] for j in self.active_jobs if self.paged]
        best = 0
        for seen in candidates:
            n = 0
            while n < min(len(ids), len(seen)) and ids[n] == seen[n]:
                n += 1
            best = max(best, n)
        return best

    def _release(self, job: ExLlamaV2DynamicJob) -> None:
        self.active_jobs.remove(job)
        self.cached.append(job.sequence[: job.kv_position])
        del self.cached[: -self.max_pages]  # older sequences' pages are reused first

    def _forward(self, kind: str, tokens: int) -> None:
        if getattr(self.cache, "has_scales", False) and self.cache.shape_s[-1] == 0:
            # The real Q caches allocate these zero-width scale tensors and hand them to the kernels,
            # which are written for head_dim a multiple of 32; what they then do is unconfirmed.
            raise RuntimeError(f"fake exllamav2: Q cache with head_dim {self.cache.head_dim} has no scale groups")
        FORWARDS.append((kind, tokens))

    def _script(self, job: ExLlamaV2DynamicJob) -> list[int]:
        script = RESPONSE[min(job.serial_number, len(RESPONSE) - 1)]
        if isinstance(script, list):
            return script
        return self.tokenizer.encode(script, encode_special_tokens=True)[0].tolist()

    def _sample(self, job: ExLlamaV2DynamicJob, results: list[dict[str, Any]]) -> None:
        token = job.script[job.new_tokens] if job.new_tokens < len(job.script) else self.tokenizer.single_id(".")
        if job.time_first_token is None:
            job.time_first_token = time.time()
        job.new_tokens += 1
        job.sequence.append(token)
        job.kv_position = len(job.sequence) - 1
        job.held_text += self.tokenizer.get_id_to_piece_list(job.decode_special_tokens)[token]
        job.held_tokens.append(token)
        emit: Callable[..., None] = lambda **kw: self._emit(job, results, **kw)  # noqa: E731
        if token in job.stop_tokens:
            return emit(eos_reason="stop_token", stop_token=token)
        if job.new_tokens >= job.max_new_tokens:
            return emit(eos_reason="max_new_tokens", flush=True)
        if 1 <= job.held_text.count("\ufffd") < 5:
            whole = self.tokenizer.decode(torch.tensor([job.held_tokens]), job.decode_special_tokens)[0]
            if "\ufffd" in whole:
                return emit()  # an incomplete character: hold it
            job.held_text = whole
        if job.stop_strings:
            match = partial_strings_match(job.held_text, job.stop_strings)
            if match >= 0:
                rest, job.held_text = job.held_text[match:], job.held_text[:match]
                stop = next(s for s in job.stop_strings if rest.startswith(s))
                return emit(eos_reason="stop_string", stop_string=stop, flush=True, rest=rest)
            if match == -2:
                return emit()  # maybe the start of a stop string: hold it
        return emit(flush=True)

    def _emit(self, job: ExLlamaV2DynamicJob, results: list[dict[str, Any]], eos_reason: str | None = None,
              flush: bool = False, stop_token: int | None = None, stop_string: str | None = None,
              rest: str = "") -> None:  # fmt: skip
        r = self._result(job, "streaming", eos=eos_reason is not None)
        if eos_reason == "stop_token":
            piece = self.tokenizer.get_id_to_piece_list(True)[stop_token]
            r.update(eos_reason=eos_reason, eos_triggering_token_id=stop_token, eos_triggering_token_str=piece)
        elif eos_reason == "stop_string":
            r.update(eos_reason=eos_reason, eos_triggering_string=stop_string)
        elif eos_reason is not None:
            r["eos_reason"] = eos_reason
        if flush:
            if job.held_text:
                job.full_completion += job.held_text
                r["text"], job.held_text = job.held_text, ""
            if job.held_tokens:
                r["token_ids"], job.held_tokens = torch.tensor([job.held_tokens]), []
        if eos_reason is not None:
            now = time.time()
            first_prefill, first_token = job.time_first_prefill or now, job.time_first_token or now
            r.update(full_completion=job.full_completion, new_tokens=job.new_tokens,
                     prompt_tokens=job.input_ids.shape[-1], time_enqueued=first_prefill - job.time_enqueue,
                     time_prefill=first_token - first_prefill, time_generate=now - first_token,
                     cached_pages=job.cached_tokens // PAGED_PAGE_SIZE if self.paged else 0,
                     cached_tokens=job.cached_tokens)  # fmt: skip
            if eos_reason == "stop_string":
                job.held_text = rest
            held: dict[str, Any] = {}
            if job.held_text:
                held["text"] = job.held_text
            if job.held_tokens:
                held["token_ids"] = torch.tensor([job.held_tokens])
            if held:
                r["held"] = held
            self._release(job)
        results.append(r)

    def _result(self, job: ExLlamaV2DynamicJob, stage: str, eos: bool = False) -> dict[str, Any]:
        r: dict[str, Any] = {"job": job, "stage": stage, "eos": eos, "serial": job.serial_number}
        if job.identifier is not None:
            r["identifier"] = job.identifier
        return r
