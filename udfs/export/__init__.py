"""Writers of training-framework files that need no Spark: Megatron-LM indexed datasets (.bin/.idx)
and MosaicML Streaming MDS shards, plus the batch adapters `corpusmill export` runs per Spark task."""
