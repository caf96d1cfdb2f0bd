// pcfg / productivity (SPEC section 3).
{
  data: { task: 'pcfg', split: 'productivity' },
  // The paper trains PCFG for 100,000 steps (others: 40,000); layer after models/paper.
  // train: { steps: 100000 },
}
