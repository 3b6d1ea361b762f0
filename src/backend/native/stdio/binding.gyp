{
  "targets": [
    {
      "target_name": "rnn_stdio",
      "sources": ["stdio.c"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
