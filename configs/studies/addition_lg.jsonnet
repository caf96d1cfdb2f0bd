// The CPU-sized addition study of README "Newer encodings and formats": train on operands of
// 1..10 digits, test on 11..40 (task add, split len_tr10_ts40[_rev][_hint]). A small llama
// model and budget so that one run takes about 2.5 minutes on one idle core (8,000 steps of 32);
// the encoding, split and position scheme are set per run by scripts/study_addition.sh.
{
  data: { task: 'add', split: 'len_tr10_ts40_rev', train_size: 20000, test_size: 600, seed: 0 },
  model: { family: 'llama', d_model: 64, n_layers: 2, n_heads: 4, d_head: 16, d_ff: 256 },
  train: {
    steps: 8000, batch_size: 32, lr: 3e-3, schedule: 'linear', warmup_fraction: 0.06,
    end_lr: 1e-5, weight_decay: 0.0, grad_clip: 1.0,
    log_every: 100, eval_every: 4000, checkpoint_every: 2000,
  },
  eval: { batch_size: 64, validation_examples: 128, max_per_length: 20 },
}
