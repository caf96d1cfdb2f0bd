"""A PyTorch reference of the lengen model, written from docs SPEC sections 1 and 2.

It is the numerical oracle of the parity suite (test_parity.py): it loads a lengen checkpoint
(config.json {"model": {...}} + model.safetensors with the Llama-style names of README
"Checkpoints") into an nn.Module whose state_dict names are exactly the checkpoint's names, and
computes logits for right-padded batches, the training loss, and greedy decoding by full
recomputation at every step (no KV cache, so it checks lengen's cache independently).

Everything runs in float32 (softmax, norms, the loss): the same precision lengen computes in,
so the two differ only by summation order. Dropout is never applied (the oracle is for the
deterministic math; lengen's `debug step` and `generate` switch it off too).

Conventions taken from SPEC, not from the C++ code:
- scores s = scale * q.k + bias(h, i, j), causal mask, softmax; scale 1 (t5) or 1/sqrt(dh).
- pre-norm blocks, residual adds, final norm; t5: RMSNorm eps 1e-6, relu FFN wo(relu(wi x)),
  tied head with logits = E (h * D^-0.5); llama: RMSNorm eps 1e-5, SwiGLU, untied lm_head;
  gpt2 (extra): LayerNorm with bias, GELU (erf), tied unscaled head.
- positions are 0..len-1 per row (right padding; the causal mask keeps pads invisible).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

# ---------------------------------------------------------------------------------------------
# configuration: the family defaults of SPEC 1 / README "Model config keys", then the file's keys

FAMILY_DEFAULTS = {
    "t5": dict(norm="rmsnorm", norm_eps=1e-6, ffn="relu", qk_scale="none", tie_embeddings=True,
               output_scale=True),
    "llama": dict(norm="rmsnorm", norm_eps=1e-5, ffn="swiglu", qk_scale="inv_sqrt_dh",
                  tie_embeddings=False, output_scale=False),
    "gpt2": dict(norm="layernorm", norm_eps=1e-5, ffn="gelu", qk_scale="inv_sqrt_dh",
                 tie_embeddings=True, output_scale=False),
}


@dataclass
class RefConfig:
    family: str
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_head: int
    d_ff: int
    norm: str
    norm_eps: float
    ffn: str
    qk_scale: str
    tie_embeddings: bool
    output_scale: bool
    pe: dict = field(default_factory=lambda: {"type": "nope"})
    embed_std: float = 1.0  # the token embeddings' init std (abs_sin's default table scale)

    @staticmethod
    def from_json(j: dict) -> "RefConfig":
        if "model" in j:
            j = j["model"]
        family = j.get("family", "t5")
        c = dict(FAMILY_DEFAULTS[family])
        c.update({k: v for k, v in j.items() if k in c})
        pe = j.get("pe", "nope")
        if isinstance(pe, str):
            pe = {"type": pe}
        init = j.get("init", "t5" if family == "t5" else "normal")
        embed_std = j.get("embed_init_std", 0) or (1.0 if init == "t5" else j.get("init_std", 0.02))
        return RefConfig(family=family, vocab_size=j["vocab_size"], d_model=j["d_model"],
                         n_layers=j["n_layers"], n_heads=j["n_heads"], d_head=j["d_head"],
                         d_ff=j["d_ff"], pe=pe, embed_std=embed_std, **c)


# ---------------------------------------------------------------------------------------------
# positional encodings (SPEC 2)

def sinusoid_table(n_pos: int, d_model: int) -> torch.Tensor:
    """P[p] = concat(sin(p w), cos(p w)), w_k = 10000^(-2k/D): computed in float64, then fp32."""
    p = torch.arange(n_pos, dtype=torch.float64)[:, None]
    k = torch.arange(d_model // 2, dtype=torch.float64)[None, :]
    w = 10000.0 ** (-2.0 * k / d_model)
    return torch.cat([torch.sin(p * w), torch.cos(p * w)], dim=1).to(torch.float32)


def t5_bucket(n: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Unidirectional T5 buckets of distances n = i - j >= 0 (SPEC 2), log in float32 as HF T5."""
    n = n.clamp(min=0)
    max_exact = num_buckets // 2
    nf = n.to(torch.float32).clamp(min=1.0)  # the log branch only matters for n >= max_exact
    large = max_exact + (torch.log(nf / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = large.clamp(max=num_buckets - 1)
    return torch.where(n < max_exact, n, large)


def alibi_slopes(n_heads: int) -> list[float]:
    """Press et al.: 2^(-8h/H) for H a power of two; else the closest lower power P's slopes,
    then every other slope of the 2P case (2^(-4k/P), k odd) until H slopes."""
    def pow2(n):
        return [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]
    p = 2 ** int(math.floor(math.log2(n_heads)))
    slopes = pow2(p)
    if p < n_heads:
        slopes += pow2(2 * p)[0::2][: n_heads - p]
    return slopes


class PE(nn.Module):
    """Holds the learned tensors under the checkpoint names model.pe.<name>.*"""

    def __init__(self, c: RefConfig):
        super().__init__()
        self.c = c
        pe = c.pe
        self.type = pe["type"]
        H, D = c.n_heads, c.d_model
        if self.type == "t5_bias":
            self.num_buckets = pe.get("num_buckets", 32)
            self.max_distance = pe.get("max_distance", 128)
            self.t5_bias = nn.Embedding(self.num_buckets, H)  # weight [buckets, H]
        elif self.type == "abs_learned":
            self.max_positions = pe.get("max_positions", 2048)
            self.abs_learned = nn.Embedding(self.max_positions, D)  # weight [P, D]
        elif self.type in ("alibi", "alibi_learned"):
            fixed = torch.tensor(alibi_slopes(H), dtype=torch.float64).to(torch.float32)
            self.register_buffer("fixed_slopes", fixed, persistent=False)
            if self.type == "alibi_learned":
                self.alibi = nn.Module()
                self.alibi.log_slopes = nn.Parameter(torch.log(fixed))
        elif self.type in ("rotary", "xpos"):
            llama = c.family == "llama"
            frac = pe.get("rotary_fraction", 1.0 if llama else 0.25)
            self.rdim = pe.get("rotary_dim", int(round(c.d_head * frac)))
            self.interleaved = pe.get("pairing", "half" if llama else "interleaved") == "interleaved"
            self.base = float(pe.get("base", 10000.0))
        elif self.type in ("bipe_rope", "bipe_alibi"):
            # BiPE (SPEC 6): intra-segment table whose last row is zero and frozen, plus RoPE
            # (half-split, all dims) or ALiBi (slopes x96) on the segment index.
            self.delimiters = set(pe["delimiters"])
            self.intra_size = pe.get("intra_size", 1024)
            # BiPE's released get_bilevel_ids clamps at 1023 whatever the table size
            self.intra_clamp = pe.get("intra_clamp", self.intra_size - 1)
            self.bipe = nn.Module()
            self.bipe.intra = nn.Embedding(self.intra_size, D, padding_idx=self.intra_size - 1)
            if self.type == "bipe_rope":
                self.rdim, self.interleaved = c.d_head, False
                self.base = float(pe.get("base", 10000.0))
            else:
                m = torch.tensor(alibi_slopes(H), dtype=torch.float64) * 96.0
                self.register_buffer("fixed_slopes", m.to(torch.float32), persistent=False)
        elif self.type == "fire":
            width = pe.get("width", 32)
            self.fire = nn.Module()
            self.fire.log_c = nn.Parameter(torch.zeros(1))
            self.fire.log_threshold = nn.Parameter(torch.zeros(1))
            self.fire.mlp = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, H, bias=False))
        elif self.type == "kerple":
            self.kerple_power = pe.get("variant", "log") == "power"
            self.kerple = nn.Module()
            self.kerple.log_r1 = nn.Parameter(torch.zeros(H))
            self.kerple.log_r2 = nn.Parameter(torch.zeros(H))
        elif self.type == "abacus":
            self.abacus = nn.Embedding(pe.get("max_positions", 128), D)
        elif self.type == "transformer_xl":
            # per layer: W_r [H*dh, D], u (content_bias), v (position_bias) [H, dh]
            self.clamp_length = pe.get("clamp_length", 1000)
            def layer():
                m = nn.Module()
                m.r_weight = nn.Parameter(torch.zeros(H * c.d_head, D))
                m.content_bias = nn.Parameter(torch.zeros(H, c.d_head))
                m.position_bias = nn.Parameter(torch.zeros(H, c.d_head))
                return m
            self.transformer_xl = nn.ModuleList(layer() for _ in range(c.n_layers))
        elif self.type not in ("nope", "abs_sin"):
            raise ValueError(f"reference: unknown pe type {self.type}")

    @property
    def bilevel(self) -> bool:
        return self.type in ("bipe_rope", "bipe_alibi")

    def bilevel_ids(self, tokens: torch.Tensor):
        """Per row: segment index (delimiters counted before the token) and intra-segment
        index (tokens since the last delimiter, clamped to intra_clamp). [B, T] each."""
        seg, intra = torch.zeros_like(tokens), torch.zeros_like(tokens)
        for b in range(tokens.shape[0]):
            s = i = 0
            for t, tok in enumerate(tokens[b].tolist()):
                seg[b, t], intra[b, t] = s, min(i, self.intra_clamp)
                if tok in self.delimiters:
                    s, i = s + 1, 0
                else:
                    i += 1
        return seg, intra

    # input side: added to the token embeddings
    def add_input(self, x: torch.Tensor, pos: torch.Tensor, intra=None) -> torch.Tensor:
        if self.type == "abacus":  # digit significance ids in the intra stream
            return x + self.abacus.weight[intra]
        if self.type == "abs_sin":
            scale = self.c.pe.get("scale", self.c.embed_std)
            return x + scale * sinusoid_table(int(pos.max()) + 1, self.c.d_model)[pos]
        if self.type == "abs_learned":
            if int(pos.max()) >= self.max_positions:
                raise ValueError("position beyond the abs_learned table")
            return x + self.abs_learned.weight[pos]
        if self.bilevel:  # pos = the intra-segment ids [B, T]
            return x + self.bipe.intra(pos)
        return x

    # q, k: rotate pairs of the first rdim dims of each head by p * theta_t
    def rotate(self, x: torch.Tensor, pos: torch.Tensor, is_key: bool = False) -> torch.Tensor:
        if self.type not in ("rotary", "bipe_rope", "xpos"):
            return x
        r, half = self.rdim, self.rdim // 2
        t = torch.arange(half, dtype=torch.float64)
        theta = (self.base ** (-2.0 * t / r)).to(torch.float32)  # theta_t = base^(-2t/rdim)
        scaling = self.c.pe.get("scaling", "none") if self.type == "rotary" else "none"
        if scaling != "none":
            theta = rope_scaled_inv_freq(r, self.base, self.c.pe)
        ang = pos.to(torch.float32)[..., None] * theta               # [(B,) T, half], fp32 as HF
        if ang.dim() == 3:                                            # per-row positions (BiPE)
            ang = ang[:, None]                                        # [B, 1, T, half]
        cos, sin = torch.cos(ang), torch.sin(ang)
        if self.type == "xpos":  # per-pair decay zeta^(+-p / scale_base), queries +, keys -
            gamma, sb = self.c.pe.get("gamma", 0.4), self.c.pe.get("scale_base", 512.0)
            log_zeta = torch.log((2.0 * t / r + gamma) / (1.0 + gamma))
            sign = -1.0 if is_key else 1.0
            scale = torch.exp(sign * pos.to(torch.float64)[:, None] / sb * log_zeta[None, :])
            scale = scale.to(torch.float32)
            cos, sin = cos * scale, sin * scale
        if scaling == "yarn":  # attention temperature on whole heads
            factor = self.c.pe.get("scaling_factor", 1.0)
            x = x * float(0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0)
        xr, xpass = x[..., :r], x[..., r:]
        if self.interleaved:   # GPT-J: pairs (2t, 2t+1)
            a, b = xr[..., 0::2], xr[..., 1::2]
            ra, rb = a * cos - b * sin, a * sin + b * cos
            xr = torch.stack([ra, rb], dim=-1).flatten(-2)
        else:                  # Llama rotate_half: pairs (t, t + r/2)
            a, b = xr[..., :half], xr[..., half:]
            xr = torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
        return torch.cat([xr, xpass], dim=-1)

    def xl_scores(self, q, k, pos, layer: int, scale: float):
        """Transformer-XL (Dai et al. 2019): scale ((q_i + u) . k_j + (q_i + v) . W_r e(d)),
        e(d) the sinusoid of the distance d = min(i - j, clamp) over d_model dims.
        q, k [B, H, T, dh] -> scores [B, H, T, T] (entries above the diagonal are masked)."""
        t = self.transformer_xl[layer]
        H, dh = t.content_bias.shape
        dist = (pos[:, None] - pos[None, :]).clamp(min=0, max=self.clamp_length)  # [T, T]
        e = sinusoid_table(self.clamp_length + 1, self.c.d_model)
        r = (e @ t.r_weight.t()).view(-1, H, dh)                     # [rows, H, dh]
        content = (q + t.content_bias[None, :, None, :]) @ k.transpose(-1, -2)
        by_dist = torch.einsum("bhid,rhd->bhir", q + t.position_bias[None, :, None, :], r)
        position = by_dist.gather(3, dist[None, None].expand(q.shape[0], H, -1, -1))
        return scale * (content + position)

    # scores: bias[h, i, j] for query positions i and key positions j
    def score_bias(self, pos: torch.Tensor):
        dist = pos[..., :, None] - pos[..., None, :]  # i - j ([B, T, T] for per-row positions)
        if self.type == "t5_bias":
            b = self.t5_bias.weight[t5_bucket(dist, self.num_buckets, self.max_distance)]  # [T,T,H]
            return b.permute(2, 0, 1)
        if self.type in ("alibi", "alibi_learned"):
            m = self.fixed_slopes if self.type == "alibi" else torch.exp(self.alibi.log_slopes)
            return -m[:, None, None] * dist.to(torch.float32)[None]
        if self.type == "bipe_alibi":  # [B, H, T, T]
            return -self.fixed_slopes[None, :, None, None] * dist.to(torch.float32)[:, None]
        if self.type == "kerple":
            d = dist.abs().to(torch.float32)[None]
            r1 = torch.exp(self.kerple.log_r1)[:, None, None]
            r2 = torch.exp(self.kerple.log_r2)[:, None, None]
            if self.kerple_power:  # -r1 |i-j|^r2 (0 at distance 0, with a finite gradient)
                safe = torch.where(d > 0, d, torch.ones_like(d))
                return -r1 * torch.where(d > 0, safe ** r2, torch.zeros_like(safe))
            return -r1 * torch.log1p(r2 * d)
        if self.type == "fire":
            return fire_bias(self.fire, pos)
        return None


def rope_scaled_inv_freq(r: int, base: float, pe: dict) -> torch.Tensor:
    """RoPE context extension (README "Newer encodings and formats"): linear (position
    interpolation), ntk (base * factor^(r/(r-2))), yarn (NTK-by-parts ramp between the
    interpolated and the original frequency by the rotations over the original context)."""
    kind, factor = pe.get("scaling", "none"), float(pe.get("scaling_factor", 1.0))
    if kind == "ntk":
        base = base * factor ** (r / (r - 2))
    t = torch.arange(r // 2, dtype=torch.float64)
    pos_freq = (base ** (2.0 * t / r)).to(torch.float32)
    inv = 1.0 / pos_freq
    if kind == "linear":
        inv = 1.0 / (factor * pos_freq)
    if kind == "yarn":
        orig = pe["original_max_positions"]
        fast, slow = pe.get("yarn_beta_fast", 32.0), pe.get("yarn_beta_slow", 1.0)
        def corr(rot):
            return r * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))
        low = max(0.0, math.floor(corr(fast)))
        high = min(float(r - 1), math.ceil(corr(slow)))
        if high == low:
            high += 0.001
        ramp = ((t - low) / (high - low)).clamp(0, 1).to(torch.float32)
        keep = 1.0 - ramp
        inv = (inv / factor) * (1.0 - keep) + inv * keep
    return inv


def fire_bias(fire: nn.Module, pos: torch.Tensor) -> torch.Tensor:
    """FIRE: f(sign(i-j) psi(|i-j|) / psi(max(L, i))), psi(x) = log(1 + c x), f an MLP to H
    heads; the normaliser is computed in float64 (as lengen does), the MLP in float32."""
    c = torch.exp(fire.log_c.double())
    L = torch.exp(fire.log_threshold.double())
    i = pos.to(torch.float64)[:, None]
    j = pos.to(torch.float64)[None, :]
    x = (i - j).abs()
    sign = torch.where(i >= j, 1.0, -1.0).to(torch.float64)
    m = torch.where(L > i, L.expand_as(i), i)  # the gradient reaches L only where L > i
    u = (sign * torch.log1p(c * x) / torch.log1p(c * m)).to(torch.float32)
    return fire.mlp(u[..., None]).permute(2, 0, 1)  # [H, T, T]


# ---------------------------------------------------------------------------------------------
# the network

class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def make_norm(c: RefConfig) -> nn.Module:
    if c.norm == "rmsnorm":
        return RMSNorm(c.d_model, c.norm_eps)
    return nn.LayerNorm(c.d_model, eps=c.norm_eps)  # weight + bias


class Attention(nn.Module):
    def __init__(self, c: RefConfig, layer: int):
        super().__init__()
        self.layer = layer
        hd = c.n_heads * c.d_head
        self.q_proj = nn.Linear(c.d_model, hd, bias=False)
        self.k_proj = nn.Linear(c.d_model, hd, bias=False)
        self.v_proj = nn.Linear(c.d_model, hd, bias=False)
        self.o_proj = nn.Linear(hd, c.d_model, bias=False)
        self.H, self.dh = c.n_heads, c.d_head
        self.scale = 1.0 / math.sqrt(c.d_head) if c.qk_scale == "inv_sqrt_dh" else 1.0

    def forward(self, x, pe: PE, pos, bias):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.dh).transpose(1, 2)  # [B, H, T, dh]
        k = self.k_proj(x).view(B, T, self.H, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.H, self.dh).transpose(1, 2)
        q, k = pe.rotate(q, pos), pe.rotate(k, pos, is_key=True)
        if pe.type == "transformer_xl":
            s = pe.xl_scores(q, k, pos, self.layer, self.scale)
        else:
            s = self.scale * (q @ k.transpose(-1, -2))
        if bias is not None:
            s = s + (bias if bias.dim() == 4 else bias[None])
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        s = s.masked_fill(~causal, float("-inf"))
        p = torch.softmax(s, dim=-1)
        return self.o_proj((p @ v).transpose(1, 2).reshape(B, T, self.H * self.dh))


class MLP(nn.Module):
    def __init__(self, c: RefConfig):
        super().__init__()
        self.kind = c.ffn
        if c.ffn in ("swiglu", "geglu"):
            self.gate_proj = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.up_proj = nn.Linear(c.d_model, c.d_ff, bias=False)  # T5's wi
        self.down_proj = nn.Linear(c.d_ff, c.d_model, bias=False)  # T5's wo

    def forward(self, x):
        if self.kind == "relu":
            return self.down_proj(F.relu(self.up_proj(x)))
        if self.kind == "gelu":
            return self.down_proj(F.gelu(self.up_proj(x)))  # exact (erf) GELU
        if self.kind == "geglu":  # T5 v1.1 gated-gelu: HF gelu_new, the tanh approximation
            return self.down_proj(F.gelu(self.gate_proj(x), approximate="tanh") * self.up_proj(x))
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: RefConfig, layer: int):
        super().__init__()
        self.input_layernorm = make_norm(c)
        self.self_attn = Attention(c, layer)
        self.post_attention_layernorm = make_norm(c)
        self.mlp = MLP(c)

    def forward(self, x, pe, pos, bias):
        x = x + self.self_attn(self.input_layernorm(x), pe, pos, bias)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, c: RefConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.d_model)
        self.pe = PE(c)
        self.layers = nn.ModuleList(Block(c, l) for l in range(c.n_layers))
        self.norm = make_norm(c)


class LengenReference(nn.Module):
    def __init__(self, c: RefConfig):
        super().__init__()
        self.c = c
        self.model = Decoder(c)
        if not c.tie_embeddings:
            self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)

    @staticmethod
    def from_checkpoint(directory: str) -> "LengenReference":
        with open(os.path.join(directory, "config.json")) as f:
            c = RefConfig.from_json(json.load(f))
        m = LengenReference(c)
        state = load_file(os.path.join(directory, "model.safetensors"))
        m.load_state_dict(state, strict=True)  # every name and shape must match
        return m.float()

    def forward(self, tokens: torch.Tensor, pos=None, intra=None) -> torch.Tensor:
        """tokens [B, T] (right-padded rows; positions 0..T-1 unless `pos` [T] is given; `intra`
        [T]: the intra-segment ids of encodings that read them) -> logits [B, T, V]."""
        B, T = tokens.shape
        if pos is None:
            pos = torch.arange(T)
        pe = self.model.pe
        input_pos = pos
        if pe.bilevel:  # segment ids act as the positions of RoPE / ALiBi
            pos, input_pos = pe.bilevel_ids(tokens)
        x = pe.add_input(self.model.embed_tokens(tokens), input_pos, intra)
        bias = pe.score_bias(pos)  # shared by all layers
        for layer in self.model.layers:
            x = layer(x, self.model.pe, pos, bias)
        h = self.model.norm(x)
        if self.c.tie_embeddings:
            if self.c.output_scale:
                h = h * (self.c.d_model ** -0.5)
            return h @ self.model.embed_tokens.weight.t()
        return self.lm_head(h)


def pad_rows(rows: list[list[int]], pad: int = 0) -> torch.Tensor:
    T = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (T - len(r)) for r in rows], dtype=torch.long)


def loss_and_logprobs(model: LengenReference, rows: list[list[int]], loss_from=None):
    """Mean token cross-entropy over the counted targets (target of position t is token t+1,
    counted when t >= loss_from[row]), per-row teacher-forced log p(token[t+1]), and logits."""
    tokens = pad_rows(rows)
    logits = model(tokens)
    logp = torch.log_softmax(logits, dim=-1)
    per_row, nll = [], []
    for b, r in enumerate(rows):
        tgt = torch.tensor(r[1:], dtype=torch.long)
        lp = logp[b, : len(r) - 1].gather(1, tgt[:, None])[:, 0]
        per_row.append(lp)
        start = 0 if loss_from is None else loss_from[b]
        nll.append(-lp[start:])
    loss = torch.cat(nll).mean()
    return loss, per_row, [logits[b, : len(r)] for b, r in enumerate(rows)]


@torch.no_grad()
def greedy_naive(model: LengenReference, prompts: list[list[int]], max_new: int, eos: int = -1):
    """Greedy decoding by recomputing the whole sequence at every step (no cache). Also returns
    the logits used at each step, for diagnosing near-ties."""
    outs, step_logits = [], []
    for p in prompts:
        seq, out, ls = list(p), [], []
        for _ in range(max_new):
            logits = model(torch.tensor([seq]))[0, -1]
            nxt = int(torch.argmax(logits))  # first maximum, like std::max_element
            out.append(nxt)
            ls.append(logits)
            seq.append(nxt)
            if nxt == eos:
                break
        outs.append(out)
        step_logits.append(ls)
    return outs, step_logits
