"""Training and evaluation, apart from inference: data loading, the heads on frozen features,
fine-tuning, benchmarks and the model card. Needs the ``train`` extra (``datasets``,
scikit-learn); loading a :class:`~moderation.models.Scorer` never imports this package."""
