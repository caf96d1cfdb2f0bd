// solve_equation / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'solve_equation', split: 'len_tr40_ts100' },
}
