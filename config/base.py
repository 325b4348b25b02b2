from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, not silently ignored.

    ``.inf`` and ``.nan`` are refused everywhere: a timeout of infinity ends in ``OverflowError`` at run time.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)
