// The CPU-sized grid: six task splits x the paper's five encodings x 3 seeds on the `tiny`
// preset (llama family L2 D128, 2,500 steps of 32). On a 2-core machine, 2 runs at a time:
// about 2.3 hours (estimated from cpu_core.jsonnet, its 3-split x 2-seed core, measured at
// 2.5-3 minutes per run per core; README "Measured: cpu_core" has that table). At this
// budget the relative biases extrapolate and RoPE and the absolute encoding collapse past the
// training lengths; NoPE needs the longer budget of `small`/`paper` to catch up.
//   lengen sweep run configs/sweeps/cpu.jsonnet --jobs 2 && lengen report runs/sweeps/cpu
{
  name: 'cpu',
  base: ['models/tiny'],
  config: {
    data: { train_size: 20000, test_size: 1000 },
    eval: { validation_examples: 256, max_per_length: 50 },
  },
  axes: {
    task: [
      'copy_cmc_tr20_ts40', 'reverse_mc_tr20_ts40', 'copy_rsc2x_tr20_ts40',
      'sort_len_sngd_tr8_ts16', 'sum_len_tr8_ts16', 'lego_len_tr8_ts16',
    ],
    pe: ['nope', 't5_bias', 'alibi', 'rotary', 'abs_sin'],
    seed: [0, 1, 2],
  },
  jobs: 2,
  slurm: { time: '01:00:00', cpus_per_task: 2, mem: '4G' },
}
