// A half-hour version of cpu.jsonnet (28 minutes on a busy 2-core machine), the README's
// measured table:
// three task splits x five encodings x 2 seeds, 400 steps of 16 each, smaller evaluation. It
// exercises the machinery; the budget is too small to learn the tasks (ID accuracy near 0 on
// the copy splits, 10-19% on sort): the paper's picture needs cpu.jsonnet's 2,500 steps of 32.
//   nice -n 10 lengen sweep run configs/sweeps/cpu_quick.jsonnet --jobs 2
local cpu = import 'cpu.jsonnet';
cpu {
  name: 'cpu_quick',
  config+: {
    data: { train_size: 5000, test_size: 400 },
    train: { steps: 400, batch_size: 16, eval_every: 200, checkpoint_every: 100, log_every: 25 },
    eval: { validation_examples: 32, max_per_length: 10 },
  },
  axes+: {
    task: ['copy_rsc_tr20_ts40', 'copy_rdc_tr20_ts40', 'sort_len_sngd_tr8_ts16'],
    seed: [0, 1],
  },
}
