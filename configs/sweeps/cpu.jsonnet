// The CPU-sized grid beside the paper: six task splits that the paper's own run logs cover
// (upstream results/sanity_check.jsonl and classic.jsonl, README "The paper's numbers") x the
// paper's five encodings x 3 seeds on the `tiny` preset (llama family L2 D128, 2,500 steps of
// 32). Each run also logs its OOD accuracy during training (eval.test_examples: test_accuracy in
// metrics.jsonl). Measured cost: about 6 minutes per run per core
// (copy, 1 thread; seed 0, 30 runs, took 2 h 09 min with 2 at a time on the 2-core machine), so
// the 90 runs take about 5-6 hours there.
//   lengen sweep run configs/sweeps/cpu.jsonnet --jobs 2
//   lengen report runs/sweeps/cpu --paper-results classic.jsonl --paper-results sanity_check.jsonl
{
  name: 'cpu',
  base: ['models/tiny'],
  config: {
    data: { train_size: 20000, test_size: 1000 },
    eval: { validation_examples: 256, max_per_length: 50, test_examples: 128 },
  },
  axes: {
    task: [
      'copy_cmc_tr20_ts40', 'copy_rsc_tr20_ts40', 'copy_rdc_tr20_ts40',
      'reverse_mc_tr20_ts40', 'reverse_mcrv_tr20_ts40', 'scan_mdlen_tr25_ts48',
    ],
    pe: ['nope', 't5_bias', 'alibi', 'rotary', 'abs_sin'],
    seed: [0, 1, 2],
  },
  jobs: 2,
  slurm: { time: '01:00:00', cpus_per_task: 2, mem: '4G' },
}
