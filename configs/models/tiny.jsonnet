// tiny: a 2-layer model that learns the copy/reverse tasks on a 2-core CPU in about a minute.
// It uses the llama family (RMSNorm, SwiGLU, 1/sqrt(dh) attention, untied head, N(0, 0.02)
// init): the paper's t5 family learns too slowly at this budget (copy cmc_tr20_ts40, NoPE, 2500
// steps: at best 17.5% ID against the llama family's 58%; README "The paper's model family on
// a CPU"). models/paper is the paper's t5 family.
{
  model: { family: 'llama', d_model: 128, n_layers: 2, n_heads: 4, d_head: 32, d_ff: 512 },
  train: {
    steps: 2500, batch_size: 32, lr: 3e-3, schedule: 'linear', warmup_fraction: 0.06,
    end_lr: 1e-6, weight_decay: 0.0, grad_clip: 1.0,
    log_every: 50, eval_every: 500, checkpoint_every: 500,
  },
  eval: { batch_size: 128, validation_examples: 256, max_per_length: 50 },
}
