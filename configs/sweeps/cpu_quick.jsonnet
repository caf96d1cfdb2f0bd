// A 45-minute version of cpu.jsonnet for a first look (and the README's measured table):
// three task splits x five encodings x 2 seeds, 800 steps each, smaller evaluation.
//   nice -n 10 lengen sweep run configs/sweeps/cpu_quick.jsonnet --jobs 2
local cpu = import 'cpu.jsonnet';
cpu {
  name: 'cpu_quick',
  config+: {
    data: { train_size: 10000, test_size: 600 },
    train: { steps: 800, eval_every: 400, checkpoint_every: 200, log_every: 50 },
    eval: { validation_examples: 128, max_per_length: 25 },
  },
  axes+: {
    task: ['copy_cmc_tr20_ts40', 'reverse_mc_tr20_ts40', 'sort_len_sngd_tr8_ts16'],
    seed: [0, 1],
  },
}
