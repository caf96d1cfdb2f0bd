// small: 4 layers, d_model 256 (the CPU study size; tens of minutes per run on 2 cores).
// llama family for the reason given in models/tiny.jsonnet.
{
  model: { family: 'llama', d_model: 256, n_layers: 4, n_heads: 4, d_head: 64, d_ff: 1024 },
  train: {
    steps: 6000, batch_size: 64, lr: 1e-3, schedule: 'linear', warmup_fraction: 0.06,
    end_lr: 1e-6, weight_decay: 0.05, grad_clip: 1.0,
    log_every: 50, eval_every: 1000, checkpoint_every: 500,
  },
  eval: { batch_size: 128, validation_examples: 512, max_per_length: 200 },
}
