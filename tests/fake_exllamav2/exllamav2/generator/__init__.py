"""Fake `exllamav2.generator`: `ExLlamaV2Sampler.Settings` with the library's own defaults, and a
dynamic generator that follows the documented `enqueue` / `iterate` / `cancel` protocol."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from exllamav2 import ExLlamaV2Cache_8bit, attn

PAGED_PAGE_SIZE = 256
# What the fake model "writes" for every job, then "." for ever (until a stop or max_new_tokens).
RESPONSE = ["<think>\nadd the units, then the tens\n</think>\n\\boxed{85}<|im_end|>"]


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


class ExLlamaV2DynamicJob:
    def __init__(self, input_ids: torch.Tensor, max_new_tokens: int, min_new_tokens: int = 0, max_skips: int = 4,
                 gen_settings: Any = None, seed: int | None = None, stop_conditions: list[Any] | None = None,
                 decode_special_tokens: bool = False, return_top_tokens: int = 0, return_logits: bool = False,
                 return_probs: bool = False, filters: Any = None, filter_prefer_eos: bool = False,
                 token_healing: bool = False, identifier: Any = None, banned_strings: Any = None,
                 embeddings: Any = None) -> None:  # fmt: skip
        assert input_ids.device.type == "cpu" and input_ids.dim() == 2, "input_ids must be a (1, n) CPU tensor"
        self.input_ids, self.max_new_tokens, self.seed = input_ids, max_new_tokens, seed
        self.gen_settings = gen_settings if gen_settings is not None else ExLlamaV2Sampler.Settings()
        self.stop_conditions = list(stop_conditions or [])  # no stop conditions: no EOS stop at all
        self.decode_special_tokens, self.identifier = decode_special_tokens, identifier
        self.serial_number = -1
        self.new_ids: list[int] = []
        self.text = ""
        self.held = ""
        self.started = False
        self.time_enqueue = self.time_first_prefill = self.time_first_token = 0.0


class ExLlamaV2DynamicGenerator:
    def __init__(self, model: Any, cache: Any, tokenizer: Any, max_batch_size: int | None = None,
                 max_seq_len: int | None = None, max_chunk_size: int | None = None, max_q_size: int = 8,
                 paged: bool = True, **unused: Any) -> None:  # fmt: skip
        if paged:
            attn.assert_paged_attn()
        assert not isinstance(cache, ExLlamaV2Cache_8bit), "Dynamic generator does not currently work with 8-bit cache."
        assert cache.batch_size == 1, "DynamicGenerator requires cache to have batch_size = 1"
        assert cache.max_seq_len % PAGED_PAGE_SIZE == 0, f"cache.max_seq_len must be multiple of {PAGED_PAGE_SIZE}"
        self.model, self.cache, self.tokenizer, self.paged = model, cache, tokenizer, paged
        self.max_batch_size = max_batch_size or model.config.max_input_len // max_q_size
        self.max_total_tokens = cache.max_seq_len
        self.pending_jobs: list[ExLlamaV2DynamicJob] = []
        self.active_jobs: list[ExLlamaV2DynamicJob] = []
        self.cancelled: list[ExLlamaV2DynamicJob] = []
        self.history: list[list[int]] = []  # sequences whose pages stay hashed in the cache
        self.job_serial = 0

    def num_remaining_jobs(self) -> int:
        return len(self.pending_jobs) + len(self.active_jobs)

    def enqueue(self, job: Any) -> Any:
        if isinstance(job, list):
            return [self.enqueue(j) for j in job]
        need = job.input_ids.shape[-1] + job.max_new_tokens
        assert need <= self.max_total_tokens, (
            f"Job requires {-(-need // PAGED_PAGE_SIZE)} pages (only {self.max_total_tokens // PAGED_PAGE_SIZE} "
            "available) and cannot be enqueued."
        )
        job.serial_number, self.job_serial = self.job_serial, self.job_serial + 1
        job.time_enqueue = time.time()
        self.pending_jobs.append(job)
        return job.serial_number

    def cancel(self, job: ExLlamaV2DynamicJob) -> None:
        if job in self.pending_jobs:
            self.pending_jobs.remove(job)
        elif job in self.active_jobs:
            self.active_jobs.remove(job)
        self.cancelled.append(job)

    def clear_queue(self) -> None:
        self.pending_jobs.clear()
        self.active_jobs.clear()

    def _base(self, job: ExLlamaV2DynamicJob, stage: str, eos: bool = False) -> dict[str, Any]:
        r: dict[str, Any] = {"job": job, "stage": stage, "eos": eos, "serial": job.serial_number}
        if job.identifier is not None:
            r["identifier"] = job.identifier
        return r

    def _script(self, job: ExLlamaV2DynamicJob) -> list[int]:
        text = RESPONSE[min(job.serial_number, len(RESPONSE) - 1)]
        return self.tokenizer.encode(text, encode_special_tokens=True)[0].tolist()

    def _cached_tokens(self, ids: list[int]) -> int:
        best = 0
        for seen in self.history:
            n = 0
            while n < min(len(ids), len(seen)) and ids[n] == seen[n]:
                n += 1
            best = max(best, n)
        return best // PAGED_PAGE_SIZE * PAGED_PAGE_SIZE  # whole pages only

    def iterate(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        room = 1 if not self.paged else self.max_batch_size
        while self.pending_jobs and len(self.active_jobs) < room:
            job = self.pending_jobs.pop(0)
            job.started, job.time_first_prefill = True, time.time()
            job.cached = self._cached_tokens(job.input_ids[0].tolist())
            job.script = self._script(job)
            self.active_jobs.append(job)
            results.append(self._base(job, "started"))
            n = job.input_ids.shape[-1]
            results.append({**self._base(job, "prefill"), "curr_progress": n, "max_progress": n})
        if results:
            return results  # the token steps start on the next call
        for job in list(self.active_jobs):
            results.append(self._step(job))
        return results

    def _step(self, job: ExLlamaV2DynamicJob) -> dict[str, Any]:
        index = len(job.new_ids)
        token = job.script[index] if index < len(job.script) else self.tokenizer.single_id(".")
        if not job.new_ids:
            job.time_first_token = time.time()
        job.new_ids.append(token)
        r = self._base(job, "streaming")
        if token in job.stop_conditions:
            return self._finish(job, r, "stop_token", eos_triggering_token_id=token)
        before = self.tokenizer.decode(torch.tensor(job.new_ids[:-1]), decode_special_tokens=job.decode_special_tokens)
        after = self.tokenizer.decode(torch.tensor(job.new_ids), decode_special_tokens=job.decode_special_tokens)
        piece = after[len(before) :]
        r["token_ids"] = torch.tensor([[token]])
        job.held += piece  # like the library, text that may begin a stop string is held back
        stops = [s for s in job.stop_conditions if isinstance(s, str)]
        for stop in stops:
            if stop in job.held:
                r["text"] = job.held.split(stop, 1)[0]
                job.text += r["text"]
                return self._finish(job, r, "stop_string", eos_triggering_string=stop)
        if len(job.new_ids) >= job.max_new_tokens:
            r["text"], job.held = job.held, ""
            job.text += r["text"]
            return self._finish(job, r, "max_new_tokens")
        keep = max((n for s in stops for n in range(1, len(s)) if job.held.endswith(s[:n])), default=0)
        r["text"], job.held = job.held[: len(job.held) - keep], job.held[len(job.held) - keep :]
        job.text += r["text"]
        return r

    def _finish(self, job: ExLlamaV2DynamicJob, r: dict[str, Any], reason: str, **extra: Any) -> dict[str, Any]:
        self.active_jobs.remove(job)
        self.history.append(job.input_ids[0].tolist() + job.new_ids)
        now = time.time()
        r.update(eos=True, eos_reason=reason, full_completion=job.text, new_tokens=len(job.new_ids),
                 prompt_tokens=job.input_ids.shape[-1], time_enqueued=job.time_first_prefill - job.time_enqueue,
                 time_prefill=job.time_first_token - job.time_first_prefill, time_generate=now - job.time_first_token,
                 cached_pages=job.cached // PAGED_PAGE_SIZE, cached_tokens=job.cached, **extra)  # fmt: skip
        return r
