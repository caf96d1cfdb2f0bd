// modular_arithmetic_brackets / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'modular_arithmetic_brackets', split: 'len_tr40_ts100' },
}
