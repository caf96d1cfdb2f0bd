// paper: t5_dec_base of Kazemnejad et al. (L12 D768 H12 F3072, dropout 0.1) with the paper's
// optimizer and schedule (SPEC section 4): AdamW, lr 3e-5, 6% warm-up, linear decay to 1e-7,
// weight decay 0.05 on every weight, batch 64, 40k steps, clip 1.0, validation every 2000.
{
  model: { family: 't5', d_model: 768, n_layers: 12, n_heads: 12, d_head: 64, d_ff: 3072, dropout: 0.1 },
  train: {
    steps: 40000, batch_size: 64, lr: 3e-5, schedule: 'linear', warmup_fraction: 0.06,
    end_lr: 1e-7, weight_decay: 0.05, grad_clip: 1.0,
    beta1: 0.9, beta2: 0.999, eps: 1e-8,
    log_every: 50, eval_every: 2000, checkpoint_every: 2000,
  },
  eval: { batch_size: 64, validation_examples: 0, max_per_length: 0 },
}
