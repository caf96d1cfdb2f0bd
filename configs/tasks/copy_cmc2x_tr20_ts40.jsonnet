// copy / cmc2x_tr20_ts40 (SPEC section 3).
{
  data: { task: 'copy', split: 'cmc2x_tr20_ts40' },
}
