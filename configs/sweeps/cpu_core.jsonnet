// The smaller grid that the README's "Measured: cpu_core" table comes from: three task splits
// (copy, reverse, sort) x the paper's five encodings x 2 seeds, at cpu.jsonnet's budget
// (`models/tiny`, 2,500 steps of 32) and evaluation (the table predates the OOD probe,
// eval.test_examples, that cpu.jsonnet now adds).
//   lengen sweep run configs/sweeps/cpu_core.jsonnet --jobs 2 --threads 2 && lengen report runs/sweeps/cpu_core
local cpu = import 'cpu.jsonnet';
cpu {
  name: 'cpu_core',
  axes+: {
    task: ['copy_cmc_tr20_ts40', 'reverse_mc_tr20_ts40', 'sort_len_sngd_tr8_ts16'],
    seed: [0, 1],
  },
}
