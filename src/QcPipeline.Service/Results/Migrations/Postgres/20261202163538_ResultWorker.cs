using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace QcPipeline.Service.ResultsStore.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ResultWorker : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Worker",
                table: "Results",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Worker",
                table: "Results");
        }
    }
}
