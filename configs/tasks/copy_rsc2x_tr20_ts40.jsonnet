// copy / rsc2x_tr20_ts40 (SPEC section 3).
{
  data: { task: 'copy', split: 'rsc2x_tr20_ts40' },
}
