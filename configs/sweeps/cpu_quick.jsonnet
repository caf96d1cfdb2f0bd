// A one-hour version (on a busy 2-core machine) of cpu.jsonnet for a first look (and the README's measured table):
// three task splits x five encodings x 2 seeds, 600 steps of 16 each, smaller evaluation.
//   nice -n 10 lengen sweep run configs/sweeps/cpu_quick.jsonnet --jobs 2
local cpu = import 'cpu.jsonnet';
cpu {
  name: 'cpu_quick',
  config+: {
    data: { train_size: 5000, test_size: 400 },
    train: { steps: 600, batch_size: 16, eval_every: 300, checkpoint_every: 150, log_every: 25 },
    eval: { validation_examples: 64, max_per_length: 15 },
  },
  axes+: {
    task: ['copy_cmc_tr20_ts40', 'reverse_mc_tr20_ts40', 'sort_len_sngd_tr8_ts16'],
    seed: [0, 1],
  },
}
