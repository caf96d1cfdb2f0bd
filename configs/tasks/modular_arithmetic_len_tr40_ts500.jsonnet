// modular_arithmetic / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'modular_arithmetic', split: 'len_tr40_ts500' },
}
