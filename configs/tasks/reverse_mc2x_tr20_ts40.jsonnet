// reverse / mc2x_tr20_ts40 (SPEC section 3).
{
  data: { task: 'reverse', split: 'mc2x_tr20_ts40' },
}
