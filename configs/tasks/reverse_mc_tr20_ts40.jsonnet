// reverse / mc_tr20_ts40 (SPEC section 3).
{
  data: { task: 'reverse', split: 'mc_tr20_ts40' },
}
