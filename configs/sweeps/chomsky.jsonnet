// The Chomsky-hierarchy benchmark as the randomized positional encodings paper runs it (Ruoss et
// al. 2023; tasks and protocol in docs/tasks.md): its 15 tasks, trained on lengths 1..40 and
// tested on 41..500, x the length-generalization paper's five encodings and FIRE, each with and
// without randomized positions (every training and test row an ordered random subset of [0, 2048);
// NoPE ignores positions, so its two settings are two more seeds of one model) x 3 seeds on
// the `tiny` preset: 540 runs, for a cluster.
//   lengen sweep slurm configs/sweeps/chomsky.jsonnet --set partition=<yours> && sbatch runs/sweeps/chomsky/chomsky.slurm
// Not measured as a whole; chomsky_cpu.jsonnet is the subset for a 2-core machine.
local tasks = [
  'even_pairs', 'parity_check', 'cycle_navigation', 'modular_arithmetic',
  'reverse_string', 'stack_manipulation', 'modular_arithmetic_brackets', 'solve_equation',
  'duplicate_string', 'missing_duplicate_string', 'odds_first', 'binary_addition',
  'binary_multiplication', 'compute_sqrt', 'bucket_sort',
];
{
  name: 'chomsky',
  base: ['models/tiny'],
  config: {
    train: { steps: 10000 },
    // 20 test examples per length; randomized runs draw random positions at test time too,
    // as upstream's code does (no effect on the runs without)
    data: { train_size: 100000, test_size: 9200, random_eval_positions: true },
    eval: { validation_examples: 256, max_per_length: 20 },
  },
  axes: {
    task: [t + '_len_tr40_ts500' for t in tasks],
    pe: ['nope', 't5_bias', 'alibi', 'rotary', 'abs_sin', 'fire'],
    'data.random_positions': [0, 2048],
    seed: [0, 1, 2],
  },
  slurm: { time: '24:00:00', cpus_per_task: 8, mem: '16G', max_parallel: 100 },
}
