"""`classifier_metrics`: evaluation of every fine-tuned classifier, one row per split and label."""
from pyspark.sql.types import DoubleType, IntegerType, LongType, StringType, TimestampType

from corpusmill.schemas.base import Column as C, table

TABLE = table(
    "classifier_metrics",
    "Appended by `corpusmill train-classifier`: precision / recall / F1 per class on the validation split "
    "(and on a test set when one is given) of each trained model.",
    C("run_id", StringType(), "id of the training run (UTC time + random suffix)", False),
    C("model_dir", StringType(), "Hugging Face model directory the run wrote", False),
    C("backbone", StringType(), "checkpoint that was fine-tuned (local path or hub id)"),
    C("split", StringType(), "validation (held out from the training input, used for early stopping) or test", False),
    C("label", StringType(), "class label; '_macro' holds the unweighted mean over classes", False),
    C("precision", DoubleType(), "precision of the label on the split"),
    C("recall", DoubleType(), "recall of the label on the split"),
    C("f1", DoubleType(), "F1 of the label on the split"),
    C("support", LongType(), "examples of the label in the split (all examples for _macro)"),
    C("accuracy", DoubleType(), "accuracy over the whole split (same on every row of the split)"),
    C("train_rows", LongType(), "examples the model was trained on (validation excluded)"),
    C("best_epoch", IntegerType(), "epoch (1-based) of the kept checkpoint, chosen by validation macro F1"),
    C("created_at", TimestampType(), "UTC time the run finished"),
)
SCHEMA = TABLE.schema
